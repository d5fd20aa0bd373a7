// The ESM entry of the cognito-vcr Node.js helper: the same functions as index.js.
import vcr from './index.js';

export const { start, scopeName, clientConfig, testScopes } = vcr;
export default vcr;
