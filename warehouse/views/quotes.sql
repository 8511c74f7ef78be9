-- quotes: one row per direct quotation, offsets into documents.body, speaker resolved to an entity
-- (that of the speaker's mention, through its key, as the mentions view resolves it now).
-- {{lake}} is replaced by the lake link's absolute path when the view is created; newsetl sql sets
-- the variable newsetl_snapshot to the snapshot folder it pinned (warehouse/duck.py).
create or replace view quotes as
with source as (
    select * from read_parquet(coalesce(getvariable('newsetl_snapshot'), '{{lake}}') || '/quotes/*/*.parquet', hive_partitioning = false, union_by_name = true)
),

current_runs as (
    -- rows of a document's latest run only (see documents.sql)
    select doc_id, run_id from documents
),

resolved as (
    select alias_key, any_value(entity_id) as entity_id from entity_keys group by alias_key
),

final as (
    select source.* replace (coalesce(resolved.entity_id, source.speaker_entity_id) as speaker_entity_id)
    from source
    semi join current_runs using (doc_id, run_id)
    left join resolved on resolved.alias_key = source.speaker_key
)

select * from final;
