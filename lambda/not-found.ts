/** AWS Lambda entry for every unknown path under /api/stripe/ and /api/billing/ (routes in template.yaml). */
import notFound from '../functions/not-found.ts';
import { toLambda } from '../shared/lambda.ts';

export const handler = toLambda(notFound);
