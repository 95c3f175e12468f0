/**
 * User interaction alerts 1100–1104 (DM_Protocol 1.2 §10.5): display, confirm, text input, single
 * and multiple choice. Answered by a UI (a HAL facet or the product's own) or, headless, by a policy.
 * Only what every session needs is here (the types, the headless policy); reading an Alert and
 * answering it is in ./alert-answer.ts, loaded with the rare commands (./rare-commands.ts).
 */
export interface UserAlert {
  code: number;
  /** Option parameters of the first item (`MINDT`, `MAXDT`, `DR`, `MAXLEN`, `IT`, `ET`). */
  options: Record<string, string>;
  text: string;
  /** Choice texts (1103/1104). */
  choices: string[];
}

export type UserAnswer =
  | { kind: 'accept'; values?: string[] }
  | { kind: 'reject' }
  | { kind: 'timeout' }
  | { kind: 'cancel' };

/** What a device UI implements (e.g. a HAL `ui` facet). */
export interface UserInteraction {
  ask(alert: UserAlert): Promise<UserAnswer>;
}

/**
 * Headless policy: `accept` answers yes with the server's defaults (DR); `reject` says no;
 * `timeout` behaves as if nobody answered within MAXDT (408 with the defaults, as the AOSP engine).
 */
export type UserPolicy = 'accept' | 'reject' | 'timeout';

export function policyInteraction(policy: UserPolicy): UserInteraction {
  return {
    ask: async () => (policy === 'accept' ? { kind: 'accept' } : policy === 'reject' ? { kind: 'reject' } : { kind: 'timeout' }),
  };
}
