/** AWS Lambda entry for the webhook endpoint (routes in template.yaml). */
import webhook from '../functions/webhook.ts';
import { toLambda } from '../shared/lambda.ts';

export const handler = toLambda(webhook);
