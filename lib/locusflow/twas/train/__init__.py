"""Training expression weights: PredictDB-style elastic net in glmnet's parameterisation."""
