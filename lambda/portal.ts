/** AWS Lambda entry for the portal endpoint (routes in template.yaml). */
import portal from '../functions/portal.ts';
import { toLambda } from '../shared/lambda.ts';

export const handler = toLambda(portal);
