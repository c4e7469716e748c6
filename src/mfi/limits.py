"""Named caps on everything a model file can claim. Checked before reading or allocating.

Each cap is far above what real models use (noted beside it) and far below what would hurt.
Documented in docs/limits.md; a test keeps the two in step.
"""

MiB = 1 << 20

#: Longest GGUF string (key, token, chat template). Real chat templates are < 100 KiB.
MAX_STRING_BYTES = 16 * MiB
#: Most elements in one GGUF array. Real vocabularies hold < 300,000 tokens.
MAX_ARRAY_COUNT = 1 << 24
#: Deepest nesting of GGUF arrays of arrays. Real files nest at most 2 levels.
MAX_ARRAY_DEPTH = 4
#: Most arrays inside GGUF arrays, over the whole header (llama.cpp's own reader refuses nested arrays outright).
MAX_NESTED_ARRAYS = 4096
#: Most key/value pairs in a GGUF header. Real files carry < 100.
MAX_KV_COUNT = 1 << 16
#: Most tensors in one file. DeepSeek-V3 shards carry a few thousand; a whole unstacked-expert MoE in
#: one safetensors file (Kimi K2: 61 layers x 384 experts x 3 x weight and scale) about 140,000.
MAX_TENSOR_COUNT = 1 << 20
#: Most tensors in one GGUF file. GGUF stacks a layer's experts into one tensor, so real files carry
#: a few thousand (about 1,100 for a 61-layer MoE); at 1M the tensor table alone took 11 s and 570 MiB.
MAX_GGUF_TENSORS = 1 << 16
#: Most dimensions of a tensor (ggml's GGML_MAX_DIMS is 4; safetensors allows more).
MAX_DIMS = 8
#: Largest element count of one tensor (2**53: exact in a float, far above any real tensor).
MAX_TENSOR_ELEMENTS = 1 << 53
#: Largest safetensors JSON header (the safetensors package refuses above 100,000,000 bytes).
MAX_SAFETENSORS_HEADER = 100_000_000
#: Largest JSON sidecar read whole (config.json, tokenizer.json: Gemma's is 33 MB).
MAX_JSON_BYTES = 128 * MiB
#: Largest bitsandbytes ``quant_state.bitsandbytes__*`` JSON entry read (real ones: ~200 bytes).
MAX_QUANT_STATE_BYTES = 64 * 1024
#: Largest side table (scales, zero points, g_idx, absmax) read whole to dequantize one quantized
#: weight. Real ones: ~1/64 of the weight (a 16k x 53k GPTQ layer's scales: 13 MiB).
MAX_DEQUANT_SIDE_BYTES = 256 * MiB
#: Most parts of a split GGUF or sharded safetensors model.
MAX_SHARDS = 10_000
#: GGUF array elements kept as samples when the array is walked, not materialised.
ARRAY_SAMPLES = 8
#: A GGUF array longer than this is walked (count, samples, digest) instead of materialised.
ARRAY_MATERIALISE = 64

# Pickle checkpoints (formats/pickle.py): the opcode walk never executes anything, but a hostile
# pickle can still ask for memory and time; these bound both.
#: Largest pickle read into memory (``data.pkl`` of a zip checkpoint). Real ones are < 10 MiB.
MAX_PICKLE_BYTES = 256 * MiB
#: Most opcodes walked in one pickle. A 2,000-tensor state dict takes ~100,000.
MAX_PICKLE_OPCODES = 4_000_000
#: Most pickles walked in a row in one file or member (torch's legacy layout writes five).
MAX_PICKLES = 1000
#: Most memo entries (BINPUT/MEMOIZE). torch memoizes a few per tensor.
MAX_PICKLE_MEMO = 262_144
#: Most values on a pickle's stack at once (all MARK levels). A state dict keeps a few dozen there.
MAX_PICKLE_STACK = 100_000
#: Longest string, bytes or long-integer argument of one opcode.
MAX_PICKLE_STRING = 16 * MiB
#: Deepest stack of MARKs (nested tuples/lists/dicts being built). Real checkpoints nest < 10.
MAX_PICKLE_DEPTH = 256
#: Most bytes inflated from one compressed zip member walked as a pickle (torch never compresses its
#: data.pkl; real pickles are < 10 MiB). A 261 KB member inflating to 256 MiB stops here, in well under a second.
MAX_MEMBER_INFLATE = 64 * MiB
#: Largest zip central directory read (torch checkpoints list one member per storage).
MAX_ZIP_DIRECTORY = 16 * MiB
#: Most members in one zip checkpoint or .npz archive.
MAX_ZIP_MEMBERS = 100_000
#: Largest .npy header (numpy itself refuses headers above 10,000 bytes by default).
MAX_NPY_HEADER = 64 * 1024
#: Most files visited by ``mfi scan`` in one folder.
MAX_SCAN_FILES = 100_000
#: Most files of unknown type ``mfi scan`` opens to sniff their first bytes (each is one read remotely).
MAX_SCAN_SNIFF_FILES = 10_000
#: Bytes read from the start of a file to tell zip, npy, GGUF and pickle apart.
MAX_SCAN_SNIFF_BYTES = 64 * 1024
#: Largest Python or template file hashed/checked whole by ``mfi scan``.
MAX_SCAN_TEXT = 16 * MiB
#: Most bytes a remote ``mfi scan`` reads from one file (a JSON, a pickle, a header); past it the file
#: is reported unread ("pull it and check the local copy"): a remote scan downloads no whole files.
MAX_REMOTE_READ = 16 * MiB
#: Most layers (``{arch}.block_count``, ``num_hidden_layers``) the memory plan builds per-layer
#: rows for. Real models have < 200 (DeepSeek-V3: 61, Llama 3.1 405B: 126).
MAX_LAYERS = 4096
