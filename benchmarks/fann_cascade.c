/* FANN's cascade training (fann_cascadetrain_on_data, Cascade2) on a FANN data file, with the
   settings benchmarks/cascade.py gives retroprop: sigmoid outputs, stop when no output is off
   by 0.5 or more (FANN_STOPFUNC_BIT), FANN's defaults otherwise.

   fann_cascade TRAIN TEST MAX_NEURONS SEED
   prints: hidden N train ACC test ACC seconds S
   Build: gcc -O2 fann_cascade.c -o fann_cascade -ldoublefann -lm */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <doublefann.h>

static double accuracy(struct fann *ann, struct fann_train_data *d) {
    unsigned ok = 0, n = fann_length_train_data(d), k = fann_num_output_train_data(d);
    for (unsigned i = 0; i < n; i++) {
        fann_type *o = fann_run(ann, d->input[i]);
        if (k == 1) {
            ok += (o[0] >= 0.5) == (d->output[i][0] >= 0.5);
        } else {
            unsigned a = 0, b = 0;
            for (unsigned j = 1; j < k; j++) {
                if (o[j] > o[a]) a = j;
                if (d->output[i][j] > d->output[i][b]) b = j;
            }
            ok += a == b;
        }
    }
    return (double)ok / n;
}

static int FANN_API quiet(struct fann *ann, struct fann_train_data *train, unsigned max_epochs,
                          unsigned between, float desired, unsigned epochs) {
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 5) return 2;
    struct fann_train_data *train = fann_read_train_from_file(argv[1]);
    struct fann_train_data *test = fann_read_train_from_file(argv[2]);
    if (!train || !test) return 3;
    srand(atoi(argv[4]));
    unsigned n_in = fann_num_input_train_data(train), n_out = fann_num_output_train_data(train);
    struct fann *ann = fann_create_shortcut(2, n_in, n_out);
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    fann_set_train_stop_function(ann, FANN_STOPFUNC_BIT);
    fann_set_bit_fail_limit(ann, 0.5);
    fann_set_callback(ann, quiet);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fann_cascadetrain_on_data(ann, train, atoi(argv[3]), 1, 0.0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    unsigned hidden = fann_get_total_neurons(ann) - n_in - n_out - 1; /* less the bias neuron */
    printf("hidden %u train %.6f test %.6f seconds %.4f\n", hidden, accuracy(ann, train),
           accuracy(ann, test), (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
    return 0;
}
