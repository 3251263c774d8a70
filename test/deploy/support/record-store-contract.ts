// The RecordStore contract: one suite that every record store passes (SQLite, PostgreSQL). A
// store-specific test file calls recordStoreContract with a harness that makes fresh stores.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { RecordStore, SampleRecord } from '@kestrel/deploy';

export interface RecordStoreHarness {
  /** A new, empty store, migrated as the hub opens it. */
  fresh(): Promise<RecordStore>;
  /** The same database opened again, migrations included (a hub restart). */
  reopen(store: RecordStore): Promise<RecordStore>;
  /** Records schema version `version` in the store's database, as a newer hub would. */
  stampSchemaVersion(store: RecordStore, version: number): Promise<void>;
  cleanup(): Promise<void>;
}

let counter = 0;

function sample(deviceId: string, overrides: Partial<SampleRecord> = {}): SampleRecord {
  const id = overrides.id ?? `s-${++counter}-${randomBytes(3).toString('hex')}`;
  return {
    deviceId,
    id,
    camera: 'door',
    capturedAt: 1_750_000_000_000 + counter,
    receivedAt: 1_750_000_000_500 + counter,
    modelVersion: '1.0.0',
    reasons: ['uncertainty'],
    detections: [{ label: 'person', score: 0.45, box: [1, 2, 3, 4] }],
    frameSize: [640, 480],
    imageSize: [320, 240],
    blobKey: `samples/${deviceId}/${id}.jpg`,
    bytes: 1234,
    ...overrides,
  };
}

export function recordStoreContract(kind: string, harness: RecordStoreHarness): void {
  describe(`RecordStore contract: ${kind}`, () => {
    after(() => harness.cleanup());

    test('tokens: stored by hash, the active one found by name and role, revoked ones kept with their time, listed in order', async () => {
      const store = await harness.fresh();
      await store.addToken({ name: 'pi-2', role: 'device', hash: 'h-pi-2', createdAt: 20 });
      await store.addToken({ name: 'pi-1', role: 'device', hash: 'h-pi-1', createdAt: 10 });
      await store.addToken({ name: 'alice', role: 'operator', hash: 'h-alice', createdAt: 5 });
      assert.deepEqual(await store.tokenByHash('h-pi-1'), { name: 'pi-1', role: 'device', hash: 'h-pi-1', createdAt: 10 });
      assert.equal(await store.tokenByHash('nope'), undefined);
      assert.equal((await store.activeToken('pi-2', 'device'))?.hash, 'h-pi-2');
      assert.equal(await store.activeToken('pi-2', 'operator'), undefined, 'the role is part of the key');
      assert.equal(await store.revokeTokens('pi-2', 'device', 99), 1);
      assert.equal(await store.revokeTokens('pi-2', 'device', 100), 0, 'nothing active is left to revoke');
      assert.equal(await store.activeToken('pi-2', 'device'), undefined);
      assert.deepEqual(await store.tokenByHash('h-pi-2'), { name: 'pi-2', role: 'device', hash: 'h-pi-2', createdAt: 20, revokedAt: 99 });
      assert.deepEqual((await store.listTokens('device')).map((t) => t.name), ['pi-1', 'pi-2']);
      assert.deepEqual((await store.listTokens()).map((t) => `${t.role}:${t.name}`), ['device:pi-1', 'device:pi-2', 'operator:alice']);
      await assert.rejects(store.addToken({ name: 'x', role: 'device', hash: 'h-pi-1', createdAt: 1 }), 'a hash is stored once');
      await store.close();
    });

    test('samples: a batch is stored whole, read back field for field, and a sample already there is a duplicate', async () => {
      const store = await harness.fresh();
      const full = sample('pi-1', {
        shadow: { modelVersion: '2.0.0', detections: [{ label: 'car', score: 0.9, box: [5, 6, 7, 8] }] },
        hash: 'ab12',
        reasons: ['uncertainty', 'random'],
        capturedAt: 2 ** 41 + 17, // epoch ms past 32 bits come back exact
      });
      const plain = sample('pi-1');
      assert.deepEqual(await store.insertSamples([full, plain]), ['stored', 'stored']);
      assert.deepEqual(await store.getSample('pi-1', full.id), full);
      assert.deepEqual(await store.getSample('pi-1', plain.id), plain);
      assert.equal(await store.getSample('pi-2', full.id), undefined, 'the id is the device\'s: (deviceId, id) is the key');
      const again = sample('pi-1');
      assert.deepEqual(await store.insertSamples([again, { ...plain, camera: 'other' }]), ['stored', 'duplicate']);
      assert.equal((await store.getSample('pi-1', plain.id))?.camera, 'door', 'a duplicate changes nothing');
      assert.deepEqual(await store.insertSamples([]), []);
      const existing = await store.existingSamples([{ deviceId: 'pi-1', id: full.id }, { deviceId: 'pi-1', id: 'never' }, { deviceId: 'pi-9', id: plain.id }]);
      assert.deepEqual([...existing], [`pi-1/${full.id}`]);
      assert.deepEqual([...(await store.existingSamples([]))], []);
      assert.deepEqual(await store.sampleBlobKeys(), new Set([full.blobKey, plain.blobKey, again.blobKey]));
      await store.close();
    });

    test('a batch with one bad row stores nothing of the batch (one transaction)', async () => {
      const store = await harness.fresh();
      const good = sample('pi-1');
      const bad = { ...sample('pi-1'), camera: null } as unknown as SampleRecord;
      await assert.rejects(store.insertSamples([good, bad]));
      assert.equal(await store.getSample('pi-1', good.id), undefined, 'the good row of the failed batch is not there');
      assert.equal(await store.countSamples(), 0);
      assert.deepEqual(await store.insertSamples([good]), ['stored'], 'the store works on after the failed batch');
      await store.close();
    });

    test('listing filters by device, camera, effective label, strategy, time and review; pages in (capturedAt, deviceId, id) byte order', async () => {
      const store = await harness.fresh();
      const t = 1_800_000_000_000;
      const rows = [
        sample('pi-1', { id: 'a', capturedAt: t, reasons: ['random'] }),
        sample('pi-1', { id: 'B', capturedAt: t }), // "B" < "a" byte-wise: both stores order like SQLite's BINARY
        sample('pi-2', { id: 'a', capturedAt: t, camera: 'yard', detections: [{ label: 'car', score: 0.5, box: [0, 0, 1, 1] }] }),
        sample('pi-1', { id: 'c', capturedAt: t + 1, reviewed: { labels: [{ label: 'dog', box: [0, 0, 2, 2] }], by: 'ann', at: 5 } }),
        sample('pi-1', { id: 'd', capturedAt: t + 2, reviewed: { labels: [], by: 'ann', at: 6 } }),
        sample('pi-3', { id: 'e', capturedAt: t + 3, reasons: ['rareClass', 'countChange'] }),
      ];
      await store.insertSamples(rows);
      const ids = async (filter: Parameters<RecordStore['listSamples']>[0]) => (await store.listSamples(filter, { limit: 100 })).samples.map((s) => `${s.deviceId}/${s.id}`);
      assert.deepEqual(await ids({}), ['pi-1/B', 'pi-1/a', 'pi-2/a', 'pi-1/c', 'pi-1/d', 'pi-3/e']);
      assert.deepEqual(await ids({ deviceId: 'pi-2' }), ['pi-2/a']);
      assert.deepEqual(await ids({ camera: 'yard' }), ['pi-2/a']);
      assert.deepEqual(await ids({ label: 'person' }), ['pi-1/B', 'pi-1/a', 'pi-3/e'], 'reviewed labels replace detections, an empty review included');
      assert.deepEqual(await ids({ label: 'dog' }), ['pi-1/c']);
      assert.deepEqual(await ids({ strategy: 'random' }), ['pi-1/a']);
      assert.deepEqual(await ids({ strategy: 'countChange' }), ['pi-3/e']);
      assert.deepEqual(await ids({ since: t + 1, until: t + 3 }), ['pi-1/c', 'pi-1/d']);
      assert.deepEqual(await ids({ reviewed: true }), ['pi-1/c', 'pi-1/d']);
      assert.deepEqual(await ids({ reviewed: false, deviceId: 'pi-1' }), ['pi-1/B', 'pi-1/a']);
      assert.equal(await store.countSamples(), 6);
      assert.equal(await store.countSamples({ deviceId: 'pi-1', reviewed: false }), 2);
      assert.equal(await store.countSamples({ label: 'nothing' }), 0);

      const paged: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await store.listSamples({}, { limit: 4, after });
        paged.push(...page.samples.map((s) => `${s.deviceId}/${s.id}`));
        after = page.next;
        pages++;
      } while (after);
      assert.equal(pages, 2);
      assert.deepEqual(paged, await ids({}), 'pages cover every sample once, in order');
      assert.equal((await store.listSamples({}, { limit: 6 })).next, undefined, 'a last page that is exactly full has no next');
      await assert.rejects(store.listSamples({}, { after: 'not-a-cursor' }), (err: Error & { code?: string }) => err.code === 'E_HUB_QUERY' && /not a cursor this hub issued/.test(err.message));
      await store.close();
    });

    test('a review is set, replaced, cleared; an empty list is a review ("nothing here"); an unknown sample is reported', async () => {
      const store = await harness.fresh();
      const s = sample('pi-1');
      await store.insertSamples([s]);
      assert.equal(await store.setReviewed('pi-1', s.id, { labels: [{ label: 'cat', box: [1, 1, 2, 2] }], by: 'ann', at: 7 }), true);
      assert.deepEqual((await store.getSample('pi-1', s.id))?.reviewed, { labels: [{ label: 'cat', box: [1, 1, 2, 2] }], by: 'ann', at: 7 });
      assert.equal(await store.setReviewed('pi-1', s.id, { labels: [], by: 'bob', at: 8 }), true);
      assert.deepEqual((await store.getSample('pi-1', s.id))?.reviewed, { labels: [], by: 'bob', at: 8 });
      assert.equal(await store.setReviewed('pi-1', s.id, null), true);
      assert.equal((await store.getSample('pi-1', s.id))?.reviewed, undefined);
      assert.equal(await store.setReviewed('pi-1', 'missing', null), false);
      await store.close();
    });

    test('replaceReviewed writes only over the review the editor started from, in one step; two savers at once: one wins', async () => {
      const store = await harness.fresh();
      const s = sample('pi-1');
      await store.insertSamples([s]);
      const labels = [{ label: 'person', box: [1, 2, 3, 4] as [number, number, number, number] }];
      assert.equal(await store.replaceReviewed('pi-1', s.id, null, { labels, by: 'a', at: 10 }), 'saved');
      assert.equal(await store.replaceReviewed('pi-1', s.id, null, { labels: [], by: 'b', at: 11 }), 'stale');
      assert.equal(await store.replaceReviewed('pi-1', s.id, 9, { labels: [], by: 'b', at: 11 }), 'stale');
      assert.deepEqual((await store.getSample('pi-1', s.id))?.reviewed, { labels, by: 'a', at: 10 });
      const race = await Promise.all([
        store.replaceReviewed('pi-1', s.id, 10, { labels: [], by: 'b', at: 11 }),
        store.replaceReviewed('pi-1', s.id, 10, { labels, by: 'c', at: 12 }),
      ]);
      assert.deepEqual([...race].sort(), ['saved', 'stale'], `both editors started from 10: ${race.join(', ')}`);
      assert.equal(await store.replaceReviewed('pi-1', 'nope', null, { labels: [], by: 'b', at: 13 }), 'missing');
      await store.close();
    });

    test('fleet devices: partial updates merge, lastSeen never goes back, "no model" (null) differs from "never said"', async () => {
      const store = await harness.fresh();
      await store.upsertFleetDevice({ deviceId: 'pi-2', online: true, lastSeen: 100 });
      await store.upsertFleetDevice({ deviceId: 'pi-1', lastSeen: 0 });
      assert.deepEqual(await store.listFleetDevices(), [
        { deviceId: 'pi-1', online: false, cameras: {}, degraded: [], lastSeen: 0 },
        { deviceId: 'pi-2', online: true, cameras: {}, degraded: [], lastSeen: 100 },
      ]);
      const model = { name: 'det', version: '1.2.0', sha256: 'f'.repeat(64), provider: 'cpu' };
      await store.upsertFleetDevice({ deviceId: 'pi-2', agentVersion: '0.3.0', model, cameras: { door: { state: 'running', fps: 5 } }, degraded: ['disk'], lastSeen: 50 });
      assert.deepEqual((await store.listFleetDevices())[1], { deviceId: 'pi-2', online: true, agentVersion: '0.3.0', model, cameras: { door: { state: 'running', fps: 5 } }, degraded: ['disk'], lastSeen: 100 });
      await store.upsertFleetDevice({ deviceId: 'pi-2', online: false, model: null, lastSeen: 200 });
      const pi2 = (await store.listFleetDevices())[1]!;
      assert.equal(pi2.online, false);
      assert.equal(pi2.model, null, 'a device that reported no model says so');
      assert.equal(pi2.agentVersion, '0.3.0', 'fields not given are kept');
      assert.deepEqual(pi2.cameras, { door: { state: 'running', fps: 5 } });
      assert.equal(pi2.lastSeen, 200);
      assert.equal('model' in (await store.listFleetDevices())[0]!, false, 'a device that never said has no model field');
      await store.close();
    });

    test('drift: the latest comparison per camera, an older or redelivered one never overwrites a newer one, filtered by device and alert', async () => {
      const store = await harness.fresh();
      const detail = {
        threshold: 0.25, baseline: 'model' as const, perFrame: 0.4, baselinePerFrame: 1.2,
        worst: { histogram: 'score' as const, label: 'person', psi: 0.61, js: 0.33, n: 240 },
        figures: [{ histogram: 'score' as const, label: 'person', psi: 0.61, js: 0.33, n: 240 }, { histogram: 'count' as const, psi: 0.1, js: 0.05, n: 300 }],
      };
      const record = (deviceId: string, camera: string, at: number, drifted: boolean) => ({ deviceId, camera, at, since: at - 5, drifted, psi: drifted ? 0.61 : 0.02, js: drifted ? 0.33 : 0.01, modelVersion: '1.0.0', receivedAt: at + 1, detail });
      await store.upsertDrift(record('pi-2', 'yard', 100, false));
      await store.upsertDrift(record('pi-1', 'door', 100, false));
      await store.upsertDrift(record('pi-1', 'door', 200, true));
      await store.upsertDrift(record('pi-1', 'door', 150, false));
      await store.upsertDrift(record('pi-1', 'door', 200, true));
      const all = await store.listDrift();
      assert.deepEqual(all.map((r) => [r.deviceId, r.camera, r.at, r.drifted]), [['pi-1', 'door', 200, true], ['pi-2', 'yard', 100, false]]);
      assert.deepEqual(all[0], record('pi-1', 'door', 200, true), 'stored whole, figures included');
      assert.deepEqual((await store.listDrift({ drifted: true })).map((r) => r.camera), ['door']);
      assert.deepEqual((await store.listDrift({ deviceId: 'pi-2' })).map((r) => r.camera), ['yard']);
      assert.deepEqual(await store.listDrift({ deviceId: 'pi-3' }), []);
      const reopened = await harness.reopen(store);
      assert.equal((await reopened.listDrift()).length, 2, 'kept across a restart');
      await reopened.close();
    });

    test('fleet devices: a state older than the one a row shows (handled late by another replica) does not replace it; its lastSeen still counts', async () => {
      const store = await harness.fresh();
      const v = (version: string) => ({ name: 'det', version, sha256: version.repeat(64).slice(0, 64), provider: 'cpu' });
      await store.upsertFleetDevice({ deviceId: 'pi-3', agentVersion: '0.3.0', model: v('2'), cameras: {}, degraded: [], lastSeen: 1000, stateAt: 900 });
      await store.upsertFleetDevice({ deviceId: 'pi-3', agentVersion: '0.2.0', model: v('1'), cameras: { old: { state: 'stalled', fps: 0 } }, degraded: ['old'], lastSeen: 1100, stateAt: 800 });
      let row = (await store.listFleetDevices()).find((d) => d.deviceId === 'pi-3')!;
      assert.deepEqual(row.model, v('2'), 'the newer state stays');
      assert.equal(row.agentVersion, '0.3.0');
      assert.deepEqual(row.cameras, {});
      assert.deepEqual(row.degraded, []);
      assert.equal(row.lastSeen, 1100);
      await store.upsertFleetDevice({ deviceId: 'pi-3', online: true, lastSeen: 1200 });
      await store.upsertFleetDevice({ deviceId: 'pi-3', model: v('3'), cameras: {}, degraded: [], lastSeen: 1300, stateAt: 1250 });
      row = (await store.listFleetDevices()).find((d) => d.deviceId === 'pi-3')!;
      assert.deepEqual(row.model, v('3'), 'a newer state replaces it');
      assert.equal(row.online, true, 'a status in between is kept');
      await store.close();
    });

    test('shadows: stored whole, listed newest first, stopped once; the latest report per device, an older one never overwrites a newer one', async () => {
      const store = await harness.fresh();
      const manifest = {
        schema: 1 as const, name: 'nanodet', version: '2.0.0', sha256: 'c'.repeat(64), size: 100, url: 'http://hub/a', release: 2,
        metadata: { decoder: 'nanodet', labelCount: 80, inputSize: [416, 416] as [number, number] }, sequence: 7, issuedAt: 1, expires: 2, keyId: '0123456789abcdef', signature: 'c2ln',
      };
      const shadow = (id: string, createdAt: number) => ({ id, release: 'nanodet@2.0.0', share: 0.25, until: createdAt + 1000, createdAt, createdBy: 'ops', targets: ['pi-1', 'pi-2'], manifest });
      await store.insertShadow(shadow('sh-a', 100));
      await store.insertShadow(shadow('sh-b', 200));
      await assert.rejects(store.insertShadow(shadow('sh-a', 300)), 'an id is stored once');
      assert.deepEqual(await store.getShadow('sh-a'), shadow('sh-a', 100));
      assert.deepEqual((await store.listShadows()).map((s) => s.id), ['sh-b', 'sh-a']);
      assert.equal(await store.stopShadow('sh-a', 'ops', 500), 'stopped');
      assert.equal(await store.stopShadow('sh-a', 'other', 600), 'stopped-already');
      assert.equal(await store.stopShadow('sh-x', 'ops', 600), 'missing');
      assert.deepEqual((await store.getShadow('sh-a'))?.stopped, { by: 'ops', at: 500 }, 'the first stop stays');
      const side = { detections: 10, scoreSum: 7.5, latencyMs: { p50: 12, p99: 20 }, latencyMeanMs: 13 };
      const report = (deviceId: string, at: number, frames: number) => ({
        shadowId: 'sh-b', deviceId, at, receivedAt: at + 1,
        report: {
          schema: 1 as const, deviceId, id: 'sh-b', status: 'running' as const, candidate: { name: 'nanodet', version: '2.0.0', sha256: 'c'.repeat(64) }, current: null,
          share: 0.25, since: 50, at, dropped: 0, cameras: { door: { frames, matched: 9, agreement: 0.8182, current: side, candidate: side } },
        },
      });
      await store.upsertShadowReport(report('pi-2', 100, 5));
      await store.upsertShadowReport(report('pi-1', 100, 5));
      await store.upsertShadowReport(report('pi-1', 300, 15));
      await store.upsertShadowReport(report('pi-1', 200, 10));
      const reports = await store.listShadowReports('sh-b');
      assert.deepEqual(reports.map((r) => [r.deviceId, r.at, r.report.cameras.door.frames]), [['pi-1', 300, 15], ['pi-2', 100, 5]]);
      assert.deepEqual(reports[0], report('pi-1', 300, 15), 'stored whole');
      assert.deepEqual(await store.listShadowReports('sh-a'), []);
      const reopened = await harness.reopen(store);
      assert.equal((await reopened.listShadowReports('sh-b')).length, 2, 'kept across a restart');
      await reopened.close();
    });

    test('rollouts: stored whole, listed newest first; one lease holder at a time, taken over once expired; saves fenced by the lease', async () => {
      const store = await harness.fresh();
      const state = { release: 'm@2', waves: [{ devices: ['a', 'b'], results: { a: { outcome: 'passed' } } }], plan: { canary: '10%' } };
      await store.insertRollout({ id: 'r1', status: 'running', startedAt: 100, updatedAt: 100, state });
      await store.insertRollout({ id: 'r2', status: 'running', startedAt: 200, updatedAt: 200, state: { n: 2 } });
      await assert.rejects(store.insertRollout({ id: 'r1', status: 'running', startedAt: 1, updatedAt: 1, state: {} }), 'an id is stored once');
      assert.deepEqual(await store.getRollout('r1'), { id: 'r1', status: 'running', startedAt: 100, updatedAt: 100, state });
      assert.equal(await store.getRollout('nope'), undefined);
      assert.deepEqual((await store.listRollouts()).map((r) => r.id), ['r2', 'r1']);
      assert.deepEqual((await store.listRollouts({ limit: 1 })).map((r) => r.id), ['r2']);
      assert.deepEqual(await store.runningRolloutIds(), ['r1', 'r2']);

      // Replica A claims; B cannot until A's lease expired; A renews; B takes over after expiry.
      assert.equal(await store.claimRollout('r1', 'A', 1000, 5000), true);
      assert.equal(await store.claimRollout('r1', 'B', 1001, 5000), false, 'held by A');
      assert.equal(await store.claimRollout('r1', 'A', 3000, 5000), true, 'A renews');
      assert.equal(await store.claimRollout('r1', 'B', 7999, 5000), false, 'renewed until 8000');
      assert.deepEqual((await store.getRollout('r1'))!.lease, { holder: 'A', expiresAt: 8000 });
      const both = await Promise.all([store.claimRollout('r1', 'B', 8000, 5000), store.claimRollout('r1', 'C', 8000, 5000)]);
      assert.equal(both.filter(Boolean).length, 1, 'of two claims on an expired lease, one wins');
      const winner = both[0] ? 'B' : 'C';
      assert.equal(await store.saveRollout('r1', 'A', { status: 'running', state: { stale: true }, updatedAt: 8001 }), false, 'A lost the lease: its write is refused');
      assert.deepEqual((await store.getRollout('r1'))!.state, state);
      assert.equal(await store.saveRollout('r1', winner, { status: 'running', state: { step: 2 }, updatedAt: 8002 }), true);
      assert.deepEqual((await store.getRollout('r1'))!.state, { step: 2 });

      // An abort request is kept (the first one), and reported for a finished or unknown rollout.
      assert.equal(await store.requestRolloutAbort('r1', 'alice', 8100), 'requested');
      assert.equal(await store.requestRolloutAbort('r1', 'bob', 8200), 'requested');
      assert.deepEqual((await store.getRollout('r1'))!.abortRequested, { by: 'alice', at: 8100 });
      assert.equal(await store.requestRolloutAbort('nope', 'alice', 1), 'missing');

      // Finishing lets the lease go; a finished rollout is not claimed or written again.
      assert.equal(await store.saveRollout('r1', winner, { status: 'aborted', state: { done: true }, updatedAt: 9000 }), true);
      const done = (await store.getRollout('r1'))!;
      assert.equal(done.status, 'aborted');
      assert.equal(done.lease, undefined);
      assert.equal(done.updatedAt, 9000);
      assert.equal(await store.claimRollout('r1', 'A', 99_999, 5000), false);
      assert.equal(await store.saveRollout('r1', winner, { status: 'running', state: {}, updatedAt: 9001 }), false);
      assert.equal(await store.requestRolloutAbort('r1', 'alice', 9002), 'finished');
      assert.deepEqual(await store.runningRolloutIds(), ['r2']);

      // A replica that stops cleanly lets its lease go at once.
      assert.equal(await store.claimRollout('r2', 'A', 10_000, 60_000), true);
      await store.releaseRollout('r2', 'B');
      assert.equal((await store.getRollout('r2'))!.lease?.holder, 'A', 'only the holder releases');
      await store.releaseRollout('r2', 'A');
      assert.equal(await store.claimRollout('r2', 'B', 10_001, 5000), true);
      await store.close();
    });

    test('migrations: reopening an up-to-date database changes nothing; a schema newer than the code is refused with E_HUB_STORE', async () => {
      const store = await harness.fresh();
      const s = sample('pi-1');
      await store.insertSamples([s]);
      await store.close();
      const again = await harness.reopen(store);
      assert.deepEqual(await again.getSample('pi-1', s.id), s, 'the data survives the reopen');
      await harness.stampSchemaVersion(again, 999);
      await again.close();
      await assert.rejects(harness.reopen(again), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'E_HUB_STORE');
        assert.match(err.message, /schema version 999, newer than this hub knows \(up to \d+\)/);
        return true;
      });
    });
  });
}
