// The one place the controller reaches into the autoscaler's pure config module: revision
// annotations are validated by the code that will interpret them, so the rules cannot drift.
export {
  validateRevisionAnnotations,
  isAutoscalingAnnotation,
  parseAutoscalerConfig,
} from '../../autoscaler/config.js';
export type { AutoscalerConfig } from '../../autoscaler/config.js';
