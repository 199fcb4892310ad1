/** AWS Lambda entry for the subscription endpoint (routes in template.yaml). */
import subscription from '../functions/subscription.ts';
import { toLambda } from '../shared/lambda.ts';

export const handler = toLambda(subscription);
