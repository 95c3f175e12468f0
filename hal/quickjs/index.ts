/** The QuickJS host: dist/agent.js inside quickjs-emscripten, with a host-side HAL. */
export { QuickJsHost, type GuestAgent, type GuestMemoryUsage, type QuickJsHostOptions } from './host.ts';
export { declaredServices, guestView, type GuestOffer } from './offer.ts';
export { QuickJsGuestError, QuickJsMemoryError } from './errors.ts';
export { Endpoint, type Packed, type Peer } from './wire.ts';
export type { StripMode } from './runtime-knobs.ts';
