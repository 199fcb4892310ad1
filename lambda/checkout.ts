/** AWS Lambda entry for the checkout endpoint (routes in template.yaml). */
import checkout from '../functions/checkout.ts';
import { toLambda } from '../shared/lambda.ts';

export const handler = toLambda(checkout);
