/** Reported to managers in every identification; bump with releases. */
export const AGENT_VERSION = '0.1.0';
