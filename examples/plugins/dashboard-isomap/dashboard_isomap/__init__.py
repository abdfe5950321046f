"""An example reducer plugin: scikit-learn's Isomap as an embedding-dashboard reducer."""
