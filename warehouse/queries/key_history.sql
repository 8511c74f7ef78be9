-- key_history: every row of entity_keys in the order the keys were resolved (run, then chunk):
-- each chunk's own counts of the keys its mentions had, which is what `newsetl resolve` replays.
select run_id, chunk, alias_key, n_mentions, labels, acronym, short_forms
from read_parquet('{{lake}}/entity_keys/*/*.parquet', hive_partitioning = false, union_by_name = true)
order by run_id, chunk, alias_key;
