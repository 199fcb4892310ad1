/**
 * Billing account ids, as the API shows them and the database keys them: 'user:<JWT sub>'
 * for a person, 'org:<organization id>' for an organization. Minted from a verified token
 * (auth.ts), read back from Stripe metadata (webhook-events.ts).
 */
export type AccountKind = 'user' | 'organization';

export const userAccountId = (userId: string) => `user:${userId}`;
export const orgAccountId = (orgId: string) => `org:${orgId}`;

/** The kind of an id we mint; null for anything else. */
export function accountKindOf(accountId: string): AccountKind | null {
  return accountId.startsWith('org:') ? 'organization' : accountId.startsWith('user:') ? 'user' : null;
}
