/** Shared suite: the `files` facet (read-only, below roots; traversal and symlink escapes refused). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { utf8Encode } from '../../../agent/util/bytes.ts';
import { AccessDeniedError, HalError, InvalidOptionsError, NotFoundError } from '../../../hal/errors.ts';
import { FILE_TREE, type HalFixture, type HalTarget, SECRET_FILE } from './fixture.ts';
import { expectFailure } from './helpers.ts';

export function describeFilesSuite(fixture: HalFixture): void {
  describe(`files (${fixture.name})`, () => {
    let target: HalTarget;
    const { root, outside } = fixture.files;
    beforeEach(async () => {
      target = await fixture.create();
    });
    afterEach(() => target.dispose());

    it('reports its roots', () => {
      expect(target.device.files.roots()).toEqual([root]);
    });

    it('stats files and directories', async () => {
      const file = await target.device.files.stat(`${root}/readme.txt`);
      expect(file).toMatchObject({ path: `${root}/readme.txt`, kind: 'file', size: FILE_TREE['readme.txt']!.length });
      expect(typeof file.modifiedUtcMs).toBe('number');
      expect(await target.device.files.stat(`${root}/logs`)).toMatchObject({ path: `${root}/logs`, kind: 'directory' });
      expect(await target.device.files.stat(root)).toMatchObject({ path: root, kind: 'directory' });
    });

    it('lists direct children with full paths', async () => {
      const entries = await target.device.files.list(`${root}/logs`);
      const byPath = Object.fromEntries(entries.map((e) => [e.path, e.kind]));
      expect(byPath).toEqual({ [`${root}/logs/app.log`]: 'file', [`${root}/logs/empty.log`]: 'file', [`${root}/logs/old`]: 'directory' });
      await expectFailure(() => target.device.files.list(`${root}/readme.txt`), HalError, 'notDirectory');
    });

    it('reads byte ranges; reads past the end are short', async () => {
      const content = FILE_TREE['logs/app.log']!;
      expect(await target.device.files.read(`${root}/logs/app.log`, 0, 6)).toEqual(utf8Encode('line 1'));
      expect(await target.device.files.read(`${root}/logs/app.log`, 7, 1000)).toEqual(utf8Encode(content.slice(7)));
      expect(await target.device.files.read(`${root}/logs/empty.log`, 0, 10)).toEqual(new Uint8Array(0));
      await expectFailure(() => target.device.files.read(`${root}/logs/app.log`, -1, 5), InvalidOptionsError);
      await expectFailure(() => target.device.files.read(`${root}/logs`, 0, 5), HalError, 'isDirectory');
    });

    it('normalises ., .. and duplicate slashes that stay inside the root', async () => {
      const entry = await target.device.files.stat(`${root}//logs/./old/../app.log`);
      expect(entry.path).toBe(`${root}/logs/app.log`);
    });

    it('refuses paths outside the roots, traversal and relative paths', async () => {
      const { files } = target.device;
      await expectFailure(() => files.stat(`${outside}/${SECRET_FILE}`), AccessDeniedError);
      await expectFailure(() => files.read(`${root}/../${outside.split('/').pop()}/${SECRET_FILE}`, 0, 10), AccessDeniedError);
      await expectFailure(() => files.read(`${root}/logs/../../../../etc/passwd`, 0, 10), AccessDeniedError);
      await expectFailure(() => files.stat('readme.txt'), AccessDeniedError);
      await expectFailure(() => files.stat(`${root}-sibling/x`), AccessDeniedError);
      await expectFailure(() => files.list('/'), AccessDeniedError);
    });

    it('reports missing paths as NotFoundError', async () => {
      await expectFailure(() => target.device.files.stat(`${root}/nope.txt`), NotFoundError);
      await expectFailure(() => target.device.files.read(`${root}/logs/nope.log`, 0, 1), NotFoundError);
    });

    if (fixture.capabilities.symlinks) {
      it('refuses symlinks that point outside the roots, allows those inside', async () => {
        const { files } = target.device;
        await expectFailure(() => files.read(`${root}/escape-link`, 0, 100), AccessDeniedError);
        await expectFailure(() => files.stat(`${root}/escape-link`), AccessDeniedError);
        await expectFailure(() => files.read(`${root}/escape-dir/${SECRET_FILE}`, 0, 100), AccessDeniedError);
        await expectFailure(() => files.list(`${root}/escape-dir`), AccessDeniedError);
        expect(await files.read(`${root}/inner-link`, 0, 100)).toEqual(utf8Encode(FILE_TREE['readme.txt']!));
        const listed = await files.list(root);
        // Escaping links are listed as what they are ('other'), without following them.
        expect(listed.find((e) => e.path === `${root}/escape-link`)).toMatchObject({ kind: 'other', size: 0 });
        expect(listed.find((e) => e.path === `${root}/inner-link`)).toMatchObject({ kind: 'file' });
      });
    }
  });
}
