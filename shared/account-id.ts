/**
 * Billing account ids, as the API shows them and the database keys them: 'user:<JWT sub>'
 * for a person, 'org:<organization id>' for an organization. Minted from a verified token
 * (auth.ts), read back from Stripe metadata (webhook-events.ts).
 */
export type AccountKind = 'user' | 'organization';

/**
 * Ids become database keys and Stripe metadata: at most 255 characters and no control
 * characters or lone surrogates (Postgres and stripe-node refuse both: a 500, not a 400).
 */
export const usableId = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= 255 && !/[\u0000-\u001f\u007f]|\p{Cs}/u.test(v);

export const userAccountId = (userId: string) => `user:${userId}`;
export const orgAccountId = (orgId: string) => `org:${orgId}`;

/** Whether `s` is an account id as we mint them: a kind prefix and a usable id. */
export const isAccountId = (s: string): boolean => /^(user|org):/.test(s) && usableId(s.slice(s.indexOf(':') + 1));

/** The kind of an id we mint; null for anything else. */
export function accountKindOf(accountId: string): AccountKind | null {
  return accountId.startsWith('org:') ? 'organization' : accountId.startsWith('user:') ? 'user' : null;
}
