"""Report types as Dagster assets: the catalog of API report ids, the asset factory, partitions, the load path."""
