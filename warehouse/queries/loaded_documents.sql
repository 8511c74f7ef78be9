-- loaded_documents: the latest row (highest run_id) of each loaded document among the ids given
-- ($ids): what a run's plan needs to know of its inputs, without reading the rest of the lake.
with wanted as (
    select unnest($ids) as doc_id
),

source as (
    select doc_id, source_path, pipeline_version, model_version, duplicate_of, run_id
    from read_parquet('{{lake}}/documents/*/*.parquet', hive_partitioning = false, union_by_name = true)
    semi join wanted using (doc_id)
),

final as (
    select * exclude (run_id) from source
    qualify row_number() over (partition by doc_id order by run_id desc) = 1
)

select * from final;
