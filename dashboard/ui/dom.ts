// The few DOM types the page script uses. kedge compiles as one Node program (no "dom" lib, whose
// globals would clash with Node's timers), so the browser's objects are described here, narrowly,
// and bound with `declare const document` inside ui/app.ts only.

export interface DomEvent {
  readonly key?: string;
  readonly target: unknown;
  readonly ctrlKey?: boolean;
  readonly metaKey?: boolean;
  readonly altKey?: boolean;
  preventDefault(): void;
}

export interface El {
  id: string;
  className: string;
  hidden: boolean;
  textContent: string | null;
  readonly tagName: string;
  readonly style: { setProperty(name: string, value: string): void };
  readonly isConnected: boolean;
  readonly firstElementChild: El | null;
  readonly nextElementSibling: El | null;
  setAttribute(name: string, value: string): void;
  removeAttribute(name: string): void;
  append(...nodes: (El | string)[]): void;
  replaceChildren(...nodes: (El | string)[]): void;
  prepend(...nodes: (El | string)[]): void;
  after(...nodes: (El | string)[]): void;
  remove(): void;
  focus(): void;
  addEventListener(type: string, listener: (event: DomEvent) => void): void;
}

export interface InputEl extends El {
  value: string;
}

export interface DetailsEl extends El {
  open: boolean;
}

export interface Doc {
  readonly hidden: boolean;
  readonly activeElement: El | null;
  getElementById(id: string): El | null;
  createElement(tag: string): El;
  createElementNS(namespace: string, tag: string): El;
  addEventListener(type: string, listener: (event: DomEvent) => void): void;
}
