// The module process: serve the Docker volume isolator to the core that started it.
import { serve } from '@tessera/modules-api';
import { dvdiModule } from './module';

void serve(dvdiModule());
