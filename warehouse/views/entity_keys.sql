-- entity_keys: one row per entity key and chunk of a run that mentions it: the key -> entity map
-- later runs keep, with the chunk's counts of the key (see schemas.tables.ENTITY_KEYS).
-- {{lake}} is replaced by the lake link's absolute path when the view is created; newsetl sql sets
-- the variable newsetl_snapshot to the snapshot folder it pinned (warehouse/duck.py).
create or replace view entity_keys as
with source as (
    select * from read_parquet(coalesce(getvariable('newsetl_snapshot'), '{{lake}}') || '/entity_keys/*/*.parquet', hive_partitioning = false, union_by_name = true)
),

final as (
    select * from source
)

select * from final;
