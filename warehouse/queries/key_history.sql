-- key_history: every row of entity_keys in run order: each run's own counts of the keys its
-- mentions had, which is what `newsetl resolve` replays.
select run_id, alias_key, n_mentions, labels, acronym, short_forms
from read_parquet('{{lake}}/entity_keys/*/*.parquet', hive_partitioning = false, union_by_name = true)
order by run_id, alias_key;
