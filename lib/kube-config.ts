// The KubeConfig of kedge's cluster components: where it comes from, and the User-Agent every
// request carries (`kedge-controller/0.1.0`, `kedge-autoscaler/0.1.0`), so API server audit logs
// tell the components apart, as client-go's rest.Config.UserAgent does.
import { readFileSync } from 'node:fs';
import type { OutgoingHttpHeaders } from 'node:http';
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

/** kedge's version, from package.json (two folders up from dist/lib/). */
export const KEDGE_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/**
 * A KubeConfig whose requests carry a User-Agent: generated API clients (makeApiClient) go
 * through applySecurityAuthentication, watches (Watch, ListWatch) through applyToFetchOptions.
 */
export class UserAgentKubeConfig extends KubeConfig {
  constructor(readonly userAgent: string) {
    super();
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setHeaderParam('User-Agent', this.userAgent);
  }

  override async applyToFetchOptions(
    opts: Parameters<KubeConfig['applyToFetchOptions']>[0],
  ): ReturnType<KubeConfig['applyToFetchOptions']> {
    // Copied into the request's Headers by the base class, next to the credentials.
    const headers = opts.headers;
    opts.headers = Array.isArray(headers)
      ? [...(headers as readonly string[]), 'User-Agent', this.userAgent]
      : { ...(headers as OutgoingHttpHeaders | undefined), 'User-Agent': this.userAgent };
    return super.applyToFetchOptions(opts);
  }
}

/**
 * `--kubeconfig FILE` when given; else the in-cluster service account when running in a pod;
 * else $KUBECONFIG or ~/.kube/config. Every request says `kedge-<component>/<version>`.
 */
export function loadKubeConfig(path: string | undefined, component: string): UserAgentKubeConfig {
  const kc = new UserAgentKubeConfig(`kedge-${component}/${KEDGE_VERSION}`);
  if (path !== undefined) kc.loadFromFile(path);
  else if (process.env['KUBERNETES_SERVICE_HOST'] !== undefined) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}
