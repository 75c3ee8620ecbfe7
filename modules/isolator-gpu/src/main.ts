// The module process: serve the NVIDIA GPU isolator to the core that started it.
import { serve } from '@tessera/modules-api';
import { gpuModule } from './module';

void serve(gpuModule());
