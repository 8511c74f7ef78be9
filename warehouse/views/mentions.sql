-- mentions: one row per named-entity mention, offsets into documents.body (end exclusive).
-- entity_id is the entity its key resolves to now (entity_aliases), so an alias-file edit
-- also re-points mentions loaded by earlier runs.
-- {{lake}} is replaced by the lake folder's absolute path when the view is created.
create or replace view mentions as
with source as (
    select * from read_parquet('{{lake}}/mentions/*/*.parquet', hive_partitioning = true, union_by_name = true)
),

current_runs as (
    -- rows of a document's latest run only (see documents.sql)
    select doc_id, run_id from documents
),

resolved as (
    select distinct alias_key, entity_id
    from read_parquet('{{lake}}/entity_aliases/*.parquet', union_by_name = true)
),

final as (
    select source.* replace (coalesce(resolved.entity_id, source.entity_id) as entity_id)
    from source
    semi join current_runs using (doc_id, run_id)
    left join resolved on resolved.alias_key = source.entity_key
)

select * from final;
