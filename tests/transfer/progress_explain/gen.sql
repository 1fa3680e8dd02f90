INSERT INTO destinations (name, kind) VALUES ('src', 'webdav'), ('nas', 'local');
INSERT INTO devices (name, hostname) VALUES ('big', 'import');
INSERT INTO folders (device_id, root) SELECT id, '/big'::bytea FROM devices WHERE name = 'big';
INSERT INTO bindings (device_id, destination_id)
  SELECT dev.id, d.id FROM devices dev, destinations d WHERE dev.name = 'big' AND d.name = 'nas';
INSERT INTO transfers (name, source_id, device_id)
  SELECT 'big', d.id, dev.id FROM devices dev, destinations d WHERE dev.name = 'big' AND d.name = 'src';
INSERT INTO transfer_listing SELECT t.id, ('p/' || i)::bytea, 3000000, i, ''
  FROM transfers t, generate_series(1, 100000) i;
UPDATE transfers SET listed_items = 100000, last_listed_at = now() - interval '3 hours';
-- 90,000 fetched (one every 100 ms, the last just now: 3,000 in the window), 10,000 queued.
INSERT INTO jobs (kind, state, destination_id, transfer_id, remote_ref, remote_size, created_at,
                  finished_at)
  SELECT 4, CASE WHEN i <= 90000 THEN 3 ELSE 1 END, t.source_id, t.id, ('p/' || i)::bytea,
         3000000, now() - interval '3 hours',
         CASE WHEN i <= 90000 THEN now() - (90000 - i) * interval '100 ms' END
  FROM transfers t, generate_series(1, 100000) i;
-- 90,000 deliveries to nas: 85,000 done, 5,000 queued.
INSERT INTO jobs (kind, state, destination_id, device_id, finished_at)
  SELECT 1, CASE WHEN i <= 85000 THEN 3 ELSE 1 END, d.id, dev.id,
         CASE WHEN i <= 85000 THEN now() END
  FROM devices dev, destinations d, generate_series(1, 90000) i
  WHERE dev.name = 'big' AND d.name = 'nas';
-- Other traffic: 200,000 jobs of other destinations.
INSERT INTO destinations (name, kind) VALUES ('other', 'local');
INSERT INTO jobs (kind, state, destination_id, finished_at)
  SELECT 1, 3, d.id, now() FROM destinations d, generate_series(1, 200000) i WHERE d.name = 'other';
SELECT shoebox_transfer_counts_compact();
SELECT shoebox_status_compact();
VACUUM ANALYZE;
