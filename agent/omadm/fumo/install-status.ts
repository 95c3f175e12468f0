/**
 * What the family needs of OMA Download OTA 1.0 without loading the descriptor parser
 * (./descriptor.ts, a lazy chunk): the descriptor's MIME type and size limit, and the
 * install-notify status reports.
 */
export const DD_MIME = 'application/vnd.oma.dd+xml';
/** A DD is a few hundred bytes; refuse anything that is clearly not one. */
export const DD_MAX_BYTES = 16 * 1024;

/** Install-notify status reports (OMA Download OTA 1.0 §6.2.2); a `const enum`, inlined where used (no object in the heap). */
export const enum INSTALL_STATUS {
  success = '900 Success',
  insufficientMemory = '901 Insufficient memory',
  userCancelled = '902 User Cancelled',
  lossOfService = '903 Loss of Service',
  attributeMismatch = '905 Attribute mismatch',
  invalidDescriptor = '906 Invalid descriptor',
  invalidDdVersion = '951 Invalid DDVersion',
  deviceAborted = '952 Device Aborted',
  nonAcceptableContent = '953 Non-Acceptable Content',
}
