export { StateMachine, type MachineOptions, type MachineOutcome, type MachineRecord, type StateHandler, type HandlerResult, type StepInfo } from './machine.ts';
export { type MachineTable, type StateDefinition, MachineTableError, validateTable } from './table.ts';
export { UnhandledEventError, MachineRecordError } from './errors.ts';
export { updateFlow, type UpdateState, type UpdateEvent } from './update-flow.ts';
