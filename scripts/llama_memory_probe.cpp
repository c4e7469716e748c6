// Print llama.cpp's memory breakdown in bytes for the context that llama-completion's arguments create.
//
// llama-completion logs buffer sizes in MiB with two decimals; this probe creates the same context
// (common_params_parse + common_init_from_params, as tools/completion/completion.cpp does) and prints
// llama_get_memory_breakdown (src/llama-ext.h) exactly: model, context (KV + recurrent state) and
// compute bytes per buffer type. Built and run by scripts/llama_memory_truth.py (docs/llama-truth.md).
#include "arg.h"
#include "common.h"
#include "llama-ext.h"
#include "llama.h"

#include <cstdio>

int main(int argc, char ** argv) {
    common_params params;
    if (!common_params_parse(argc, argv, params, LLAMA_EXAMPLE_COMPLETION)) {
        return 1;
    }
    common_init();
    llama_backend_init();
    auto init = common_init_from_params(params);
    llama_context * ctx = init->context();
    if (ctx == nullptr) {
        fprintf(stderr, "memory_probe: no context\n");
        return 1;
    }
    for (const auto & [buft, mb] : llama_get_memory_breakdown(ctx)) {
        printf("memory_probe: %s model=%zu context=%zu compute=%zu\n", ggml_backend_buft_name(buft), mb.model,
               mb.context, mb.compute);
    }
    return 0;
}
