select
    cast(instrument_id as string) as instrument_id,
    cast(item_id as string) as item_id,
    cast(characteristic_id as string) as characteristic_id,
    cast(is_reverse_keyed as boolean) as is_reverse_keyed
from {{ source('clean', 'instrument_items') }}
