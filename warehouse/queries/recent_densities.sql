-- recent_densities: the entity densities of the last $n completed runs that annotated something,
-- newest first.
select entity_density
from read_parquet('{{lake}}/runs/*/*.parquet', hive_partitioning = false, union_by_name = true)
where status = 'completed' and entity_density is not null and entity_density > 0
order by run_id desc
limit $n;
