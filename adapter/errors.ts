// The typed API errors and their one mapping to a Kubernetes Status live in
// k8s/errors.ts, shared with the webhook; adapter code imports them here.
export * from '../k8s/errors.js';
