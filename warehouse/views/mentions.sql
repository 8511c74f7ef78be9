-- mentions: one row per named-entity mention, offsets into documents.body (end exclusive).
-- entity_id is the entity its key resolves to now (entity_keys), so a re-resolution of the lake
-- (newsetl resolve) also re-points mentions loaded by earlier runs.
-- {{lake}} is replaced by the lake link's absolute path when the view is created; newsetl sql sets
-- the variable newsetl_snapshot to the snapshot folder it pinned (warehouse/duck.py).
create or replace view mentions as
with source as (
    select * from read_parquet(coalesce(getvariable('newsetl_snapshot'), '{{lake}}') || '/mentions/*/*.parquet', hive_partitioning = false, union_by_name = true)
),

current_runs as (
    -- rows of a document's latest run only (see documents.sql)
    select doc_id, run_id from documents
),

resolved as (
    select alias_key, any_value(entity_id) as entity_id from entity_keys group by alias_key
),

final as (
    select source.* replace (coalesce(resolved.entity_id, source.entity_id) as entity_id)
    from source
    semi join current_runs using (doc_id, run_id)
    left join resolved on resolved.alias_key = source.entity_key
)

select * from final;
