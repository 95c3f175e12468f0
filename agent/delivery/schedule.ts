/** The pull-model family's schedule is the shared one (../families/schedule.ts, ../families/schedule-config.ts); kept here for its importers. */
export * from '../families/schedule.ts';
export * from '../families/schedule-config.ts';
