/** Lambda entry of the bare function (the same adapter as every real function). */
import { toLambda } from '../../../../shared/lambda.ts';
import bare from '../functions/bare.ts';

export const handler = toLambda(bare);
