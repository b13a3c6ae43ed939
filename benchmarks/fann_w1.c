/* FANN peer of benchmark W1: online (incremental) backpropagation, timed epoch by epoch.
 *
 * Built by benchmarks/run.py with gcc against libdoublefann (-DUSE_DOUBLE) or libfloatfann.
 * usage: fann_w1 TRAIN.data TEST.data SEED H1 [H2 ...]
 *
 * The benchmark interleaves this peer with the others, so the network lives as long as the
 * process: every line "K" read from stdin trains K more epochs and answers with one line, the
 * JSON list of their seconds; at the end of stdin it prints {"epochs": e, "accuracy": a,
 * "mse": m} of the test set and exits. The rand() stream that shuffles the samples runs on
 * across the requests, so the rounds together are the one uninterrupted run of e epochs.
 *
 * Settings as in retroprop's W1: sigmoid everywhere (FANN_SIGMOID with steepness 0.5 is
 * 1 / (1 + e^(-z))), squared error (FANN_ERRORFUNC_LINEAR; FANN's default for incremental
 * training is a tanh-shaped error), learning rate 0.3, no momentum, weights and biases drawn
 * from U(-0.5, 0.5), samples shuffled (untimed) before every epoch.
 */
#ifdef USE_DOUBLE
#include <doublefann.h>
#else
#include <floatfann.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s TRAIN TEST SEED H1 [H2 ...] (epoch counts on stdin)\n", argv[0]);
        return 2;
    }
    struct fann_train_data *train = fann_read_train_from_file(argv[1]);
    struct fann_train_data *test = fann_read_train_from_file(argv[2]);
    if (!train || !test) return 1;
    unsigned int n_hidden = (unsigned)(argc - 4), layers[16];
    if (n_hidden > 14) return 2;
    layers[0] = fann_num_input_train_data(train);
    for (unsigned int h = 0; h < n_hidden; h++) layers[1 + h] = (unsigned)atoi(argv[4 + h]);
    layers[1 + n_hidden] = fann_num_output_train_data(train);
    struct fann *ann = fann_create_standard_array(n_hidden + 2, layers);
    srand((unsigned)atoi(argv[3])); /* after create, which seeds rand() from the clock */
    fann_set_activation_function_hidden(ann, FANN_SIGMOID);
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    fann_set_activation_steepness_hidden(ann, 0.5);
    fann_set_activation_steepness_output(ann, 0.5);
    fann_set_training_algorithm(ann, FANN_TRAIN_INCREMENTAL);
    fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR);
    fann_set_learning_rate(ann, 0.3f);
    fann_set_learning_momentum(ann, 0.0f);
    fann_randomize_weights(ann, -0.5, 0.5);

    int epochs, done = 0;
    while (scanf("%d", &epochs) == 1) {
        printf("[");
        for (int e = 0; e < epochs; e++) {
            fann_shuffle_train_data(train);
            double t0 = now();
            fann_train_epoch(ann, train);
            printf("%s%.9f", e ? ", " : "", now() - t0);
        }
        printf("]\n");
        fflush(stdout);
        done += epochs;
    }
    unsigned int right = 0, n = fann_length_train_data(test), k = fann_num_output_train_data(test);
    for (unsigned int s = 0; s < n; s++) {
        fann_type *o = fann_run(ann, test->input[s]);
        unsigned int best = 0, truth = 0;
        for (unsigned int j = 1; j < k; j++) {
            if (o[j] > o[best]) best = j;
            if (test->output[s][j] > test->output[s][truth]) truth = j;
        }
        right += best == truth;
    }
    fann_reset_MSE(ann);
    fann_test_data(ann, test);
    printf("{\"epochs\": %d, \"accuracy\": %.6f, \"mse\": %.9f}\n", done, (double)right / n,
           fann_get_MSE(ann));
    fann_destroy(ann);
    fann_destroy_train(train);
    fann_destroy_train(test);
    return 0;
}
