/** AWS Lambda entry for the usage endpoint (routes in template.yaml). */
import usage from '../functions/usage.ts';
import { toLambda } from '../shared/lambda.ts';

export const handler = toLambda(usage);
