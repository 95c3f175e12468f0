/** Every shared HAL suite except networking (which has its own fixture: see ./net.ts). */
import { describeClockSuite } from './clock.ts';
import { describeDeviceSuite } from './device.ts';
import { describeExecSuite } from './exec.ts';
import type { HalFixture } from './fixture.ts';
import { describeFilesSuite } from './files.ts';
import { describeFlashSuite } from './flash.ts';
import { describeKeystoreSuite } from './keystore.ts';
import { describeLogSuite } from './log.ts';
import { describePowerSuite } from './power.ts';
import { describeRandomSuite } from './random.ts';
import { describeStagingSuite } from './staging.ts';
import { describeSystemSuite } from './system.ts';
import { describeUpdateSuite } from './update.ts';
import { describeUsersSuite } from './users.ts';

export function describeHalSuites(fixture: HalFixture): void {
  describeDeviceSuite(fixture);
  describeFlashSuite(fixture);
  describeStagingSuite(fixture);
  describeUpdateSuite(fixture);
  describeClockSuite(fixture);
  describeExecSuite(fixture);
  describeFilesSuite(fixture);
  describeSystemSuite(fixture);
  describePowerSuite(fixture);
  describeLogSuite(fixture);
  describeRandomSuite(fixture);
  describeKeystoreSuite(fixture);
  describeUsersSuite(fixture);
}
