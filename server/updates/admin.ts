/**
 * The update service's admin API (JSON, internal listener only). Every route first checks the
 * admin token (`Authorization: Bearer <token>`, `server/auth.ts`), in one call:
 *   GET  /api/updates                       rules and test devices
 *   POST /api/updates/import                {folder}: import a folder (manifest + images) as pending rules
 *   POST /api/updates/rules/<id>/approve    pending|rejected → approved
 *   POST /api/updates/rules/<id>/reject     → rejected (never served again)
 *   GET  /api/updates/test-devices, PUT {ids: [...]}
 *   GET  /api/updates/journal[?type=check]  the journal, oldest first
 */
import { array, object, string } from '../../agent/transport/schema.ts';
import { allow, readJson } from '../api.ts';
import { checkBearer } from '../auth.ts';
import { HttpError, type ManagerRequest, type ManagerResponse, jsonAnswer } from '../wire.ts';
import type { UpdateService } from './service.ts';

const ADMIN_REALM = 'ucupdates-admin';

const importSchema = object({ folder: string({ min: 1, max: 4096 }) }, { strict: true });
const testDevicesSchema = object({ ids: array(string({ min: 1, max: 128, pattern: /^[\x21-\x7e]+$/, label: 'printable ASCII without spaces' }), { max: 100_000 }) }, { strict: true });

export async function serveAdmin(service: UpdateService, adminToken: string, request: ManagerRequest, segments: string[], query: URLSearchParams): Promise<ManagerResponse> {
  checkBearer(request.headers, adminToken, ADMIN_REALM);
  const [first, id, action, ...extra] = segments;
  const method = request.method;
  if (extra.length > 0) throw notFound();
  switch (first) {
    case undefined:
      allow(method, 'GET');
      return jsonAnswer(200, { rules: service.rules(), testDevices: service.testDevices(), serviceUrls: service.serviceUrls() });
    case 'import': {
      if (id !== undefined) throw notFound();
      allow(method, 'POST');
      const { folder } = importSchema.parse(readJson(request));
      return jsonAnswer(201, await service.importFolder(folder));
    }
    case 'rules': {
      if (id === undefined) {
        allow(method, 'GET');
        return jsonAnswer(200, service.rules());
      }
      if (action === undefined) {
        allow(method, 'GET');
        const rule = service.rules().find((candidate) => candidate.id === id);
        if (!rule) throw new HttpError(404, 'unknownRule', `no rule ${JSON.stringify(id)}`);
        return jsonAnswer(200, rule);
      }
      if (action !== 'approve' && action !== 'reject') throw notFound();
      allow(method, 'POST');
      return jsonAnswer(200, service.decide(id, action === 'approve' ? 'approved' : 'rejected'));
    }
    case 'test-devices':
      if (id !== undefined) throw notFound();
      allow(method, 'GET', 'PUT');
      if (method === 'PUT') service.setTestDevices(testDevicesSchema.parse(readJson(request)).ids);
      return jsonAnswer(200, { ids: service.testDevices() });
    case 'journal': {
      if (id !== undefined) throw notFound();
      allow(method, 'GET');
      const type = query.get('type');
      return jsonAnswer(200, service.journal().filter((entry) => type === null || entry.type === type));
    }
    default:
      throw notFound();
  }
}

const notFound = (): HttpError => new HttpError(404, 'notFound', 'no such admin route');
