/**
 * The two base URLs of an update web service (./messages.ts), on their own: the agent's config
 * (./config.ts, loaded on every board) checks provisioned URLs with this schema, and the rest of
 * the protocol loads with the firmware family only.
 */
import { type Infer, httpUrl, object } from '../transport/schema.ts';
import { onDemand } from '../transport/on-demand.ts';

/** The two base URLs of one service (provisioned, or read from the discovery record). */
export const serviceUrlsSchema = onDemand(() => object({ internal: httpUrl(), external: httpUrl() }, { strict: true }));
export type ServiceUrls = Infer<typeof serviceUrlsSchema>;
