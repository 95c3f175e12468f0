/** The pull-model family's schedule is the shared one (../families/schedule.ts); kept here for its importers. */
export * from '../families/schedule.ts';
