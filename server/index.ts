/** The reference manager's public surface (see manager.ts for the routes, fleet.ts for the fleet file). */
export { type Manager, type ManagerOptions, ManagerOptionsError, createManager } from './manager.ts';
export type { FetchPeer, PeerResponse, ManagerRequest, ManagerResponse } from './manager.ts';
export { type ListenOptions, type ManagerSetup, type RunningManager, type StartManagerOptions, startManager, startServer } from './http.ts';
export { type CatalogueEntry, type Fleet, FleetError, type FleetIssue, checkFleet, loadFleet, readFleetFile } from './fleet.ts';
export { type FaultSpec } from './faults.ts';
export { AuthError, SecretFileError, bearerHeader, checkBearer, generateSecret, loadOrCreateSecretFile, readSecretFile, secretsEqual } from './auth.ts';
export { PeerError, Peers } from './peers.ts';
