// What functions-framework loads for `--target=mutate` (gcloud's
// --entry-point=mutate): hpa-bridge's webhook/function.ts, from the package
// packed into this directory (deploy/README.md, "Cloud Run functions").
export { mutate } from 'hpa-bridge/dist/webhook/function.js';
