"""Built-in reducer plugins: PCA, UMAP and t-SNE, each one plugin module."""
