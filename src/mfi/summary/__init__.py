"""Format records to one ``ModelSummary`` (parameters, quantization, tokenizer, architecture), read locally or remotely."""
