"""dbt transforms: the dbt_models/ project as Dagster assets."""

import dagster as dg

from pipelines.defs.transform.assets import dbt_models
from pipelines.resources import RESOURCES

defs = dg.Definitions(assets=[dbt_models], resources=RESOURCES)
