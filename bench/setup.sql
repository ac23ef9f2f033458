-- Tables the benchmark reads, made once per run by bench/run.sh (psql).
-- W4: 1000 rows, each a jsonb document of about 1 KB (nested objects,
-- an array of objects, strings, numbers, booleans), the same for every
-- client.  Unlogged: nothing here needs to survive a crash.
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_w4;
CREATE UNLOGGED TABLE bench_w4 AS
SELECT i AS id,
       jsonb_build_object(
         'id', i,
         'name', 'customer ' || i,
         'email', 'customer' || i || '@example.com',
         'active', i % 2 = 0,
         'score', i * 1.25,
         'tags', jsonb_build_array('alpha', 'beta', 'gamma', 'delta'),
         'address', jsonb_build_object(
           'street', i || ' Main Street',
           'city', 'Springfield',
           'zip', lpad((i % 100000)::text, 5, '0'),
           'country', 'US'),
         'orders', (SELECT jsonb_agg(jsonb_build_object(
                             'sku', 'SKU-' || (i * 100 + j),
                             'qty', j,
                             'price', j * 9.99,
                             'shipped', j % 3 = 0))
                      FROM generate_series(1, 11) j)
       ) AS doc
  FROM generate_series(1, 1000) i;
VACUUM ANALYZE bench_w4;
