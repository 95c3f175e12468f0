/** The reference device update web service (seeds 002/003): see README.md in this folder. */
export { type ImportResult, type ListenerInfo, SERVICE_PATH, type UpdateService, type UpdateServiceOptions, UpdateServiceOptionsError, createUpdateService } from './service.ts';
export { type RunningUpdateServer, type StartUpdateServerOptions, type UpdateListenOptions, startUpdateServer } from './http.ts';
export { MANIFEST_FILE, MANIFEST_FORMAT, ManifestError, type ManifestImage, type ManifestIssue, readManifestFolder } from './manifest.ts';
export { type Rule, RuleError, type RuleState, Rules } from './rules.ts';
export { Users, UsersFileError, hashPassword } from './users.ts';
export { UPDATES_JOURNAL_FILE, type UpdateJournalEntry } from './journal.ts';
