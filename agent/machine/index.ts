// The barrel reaches the A/B update table (./update-flow.ts), which only image installs need:
// agent code that runs other tables imports ./machine.ts itself, so a board's pull-model cycle
// does not load the table.
export { StateMachine, type MachineOptions, type MachineOutcome, type MachineRecord, type StateHandler, type HandlerResult, type StepInfo } from './machine.ts';
export { type CompactState, type MachineTable, type StateDefinition, stateDefinition, validateTable } from './table.ts';
export { MachineError, type MachineErrorCode, MachineTableError, UnhandledEventError, MachineRecordError } from './errors.ts';
export { updateFlow, type UpdateState, type UpdateEvent } from './update-flow.ts';
