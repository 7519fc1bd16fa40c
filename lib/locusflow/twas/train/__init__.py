"""Training expression weights: PredictDB's elastic net in glmnet's parameterisation (stage ``weights train``),
expression inputs, cis-eQTL mapping, ctPred and l-ctPred."""
